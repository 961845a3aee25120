CREATE TABLE portfolio_position (
    id BIGSERIAL PRIMARY KEY,
    ticker VARCHAR(12) UNIQUE,
    qty NUMERIC(18, 6),
    basis NUMERIC(18, 6)
);
