-- Accounts that hold cash: a brokerage account, a checking account, a card.
CREATE TABLE account (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(64) NOT NULL UNIQUE,
    kind VARCHAR(16) NOT NULL
        CHECK (kind IN ('brokerage', 'checking', 'savings', 'card', 'cash')),
    currency CHAR(3) NOT NULL DEFAULT 'USD',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per CSV import; its rows point back here. An import is one
-- transaction, so a batch row exists only when all of its rows do.
CREATE TABLE import_batch (
    id BIGSERIAL PRIMARY KEY,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('brokerage', 'bank')),
    account_id BIGINT REFERENCES account (id),
    layout VARCHAR(64) NOT NULL,
    file_name VARCHAR(255),
    content_sha256 CHAR(64) NOT NULL,
    rows_read INTEGER NOT NULL DEFAULT 0,
    rows_inserted INTEGER NOT NULL DEFAULT 0,
    rows_skipped INTEGER NOT NULL DEFAULT 0,
    imported_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Cash in and out of an account. The balance of an account is the sum of
-- its movements.
CREATE TABLE cash_movement (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES account (id),
    posted_at TIMESTAMPTZ NOT NULL,
    amount NUMERIC(18, 2) NOT NULL,
    kind VARCHAR(16) NOT NULL
        CHECK (kind IN ('transfer', 'dividend', 'interest', 'lending',
            'trade', 'fee', 'adjustment')),
    description VARCHAR(255),
    import_batch_id BIGINT REFERENCES import_batch (id),
    dedup_key VARCHAR(64) UNIQUE
);
CREATE INDEX idx_cash_movement_account ON cash_movement (account_id);

-- Brokerage activity as imported: trades and the other lines of an
-- export. Positions are derived from the trades.
CREATE TABLE portfolio_activity (
    id BIGSERIAL PRIMARY KEY,
    account_id BIGINT REFERENCES account (id),
    trade_date DATE NOT NULL,
    action VARCHAR(16) NOT NULL,
    ticker VARCHAR(12),
    quantity NUMERIC(18, 6),
    price NUMERIC(18, 6),
    amount NUMERIC(18, 2),
    description VARCHAR(255),
    import_batch_id BIGINT REFERENCES import_batch (id),
    dedup_key VARCHAR(64) UNIQUE
);
CREATE INDEX idx_portfolio_activity_ticker ON portfolio_activity (ticker);

-- Imported bank and card lines carry their account, batch and dedup key;
-- rows written through the API leave them NULL. A UNIQUE column admits
-- any number of NULLs.
ALTER TABLE finance_transaction
    ADD COLUMN account_id BIGINT REFERENCES account (id),
    ADD COLUMN import_batch_id BIGINT REFERENCES import_batch (id),
    ADD COLUMN dedup_key VARCHAR(64) UNIQUE,
    ADD COLUMN pending BOOLEAN NOT NULL DEFAULT FALSE;

-- Category filters compare lower(btrim(category)).
CREATE INDEX idx_finance_transaction_category_key
    ON finance_transaction (lower(btrim(category)));
