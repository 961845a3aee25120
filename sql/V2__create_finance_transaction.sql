CREATE TABLE finance_transaction (
    id VARCHAR(36) PRIMARY KEY,
    posted_at TIMESTAMPTZ,
    description VARCHAR(255),
    amount NUMERIC(18, 2),
    category VARCHAR(64),
    notes TEXT
);

CREATE INDEX idx_finance_transaction_posted_at ON finance_transaction (posted_at DESC);
CREATE INDEX idx_finance_transaction_category ON finance_transaction (category);
