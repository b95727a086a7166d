-- The courier status ledger (COURIER_LEDGER_URL) lives beside Temporal's databases.
CREATE DATABASE courier;
