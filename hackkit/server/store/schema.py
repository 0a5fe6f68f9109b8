"""The gateway store's schema, as append-only migrations for both dialects."""

from __future__ import annotations

from hackkit.server.store.sql import Dialect

# PostgreSQL's admission in one call (see ``postgres.py``): the key's settings as one value, so a
# decision taken from a read can be checked against the row it locks, and the locked check-and-
# reserve itself. Each statement inside a PL/pgSQL function takes its own snapshot (READ
# COMMITTED), so the sums after the lock see every reservation committed before it was granted.
POSTGRES_ADMIT = [
    """CREATE FUNCTION hackkit_key_settings(k keys) RETURNS TEXT LANGUAGE sql STABLE AS $$
        SELECT md5(ROW(k.status, k.models, k.expires_at, k.budget_nano, k.rpm, k.tpm, k.max_tokens)::text) $$""",
    """CREATE FUNCTION hackkit_admit(
        p_key TEXT, p_settings TEXT, p_request TEXT, p_now DOUBLE PRECISION, p_since DOUBLE PRECISION,
        p_tokens BIGINT, p_amount BIGINT, p_expires DOUBLE PRECISION, p_windowed BOOLEAN, p_budgeted BOOLEAN
    ) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
    DECLARE
        k keys;
        requests BIGINT;
        used BIGINT;
        held BIGINT;
    BEGIN
        SELECT * INTO k FROM keys WHERE id = p_key FOR UPDATE;
        IF NOT FOUND OR hackkit_key_settings(k) <> p_settings THEN
            RETURN FALSE;  -- the key changed since it was read: admit under the lock instead
        END IF;
        IF p_windowed THEN
            SELECT COUNT(*), COALESCE(SUM(tokens), 0) INTO requests, used
                FROM rate_events WHERE key_id = p_key AND at > p_since;
            IF requests >= k.rpm OR used + p_tokens > k.tpm THEN
                RETURN FALSE;
            END IF;
        END IF;
        IF p_budgeted THEN
            SELECT COALESCE(SUM(amount_nano), 0) INTO held
                FROM reservations WHERE key_id = p_key AND expires_at > p_now;
            IF p_amount > k.budget_nano - k.spent_nano - held THEN
                RETURN FALSE;
            END IF;
            INSERT INTO reservations VALUES (p_request, p_key, p_amount, p_expires);
        END IF;
        IF p_windowed THEN
            DELETE FROM rate_events WHERE key_id = p_key AND at <= p_since;
            INSERT INTO rate_events VALUES (p_request, p_key, p_now, p_tokens);
        END IF;
        RETURN TRUE;
    END $$""",
]


# PostgreSQL's admission of a key this worker already knows, in one statement (``postgres_admission.py``):
# the key is found by its hash and locked, and admits only when its settings are still those the
# worker knows (a rotated secret finds no row; a revoked, re-limited or expired key differs); the
# window's counts before this request come back for the x-ratelimit headers. No row admits nothing.
POSTGRES_ADMIT_KNOWN = [
    """CREATE FUNCTION hackkit_admit_known(
        p_hash TEXT, p_settings TEXT, p_request TEXT, p_now DOUBLE PRECISION, p_since DOUBLE PRECISION,
        p_tokens BIGINT, p_amount BIGINT, p_expires DOUBLE PRECISION, p_windowed BOOLEAN, p_budgeted BOOLEAN,
        OUT requests BIGINT, OUT used BIGINT, OUT oldest DOUBLE PRECISION
    ) RETURNS SETOF RECORD LANGUAGE plpgsql AS $$
    DECLARE
        k keys;
        held BIGINT;
    BEGIN
        SELECT * INTO k FROM keys WHERE hash = p_hash FOR UPDATE;
        IF NOT FOUND OR hackkit_key_settings(k) <> p_settings THEN
            RETURN;
        END IF;
        requests := 0;
        used := 0;
        IF p_windowed THEN
            SELECT COUNT(*), COALESCE(SUM(tokens), 0), MIN(at) INTO requests, used, oldest
                FROM rate_events WHERE key_id = k.id AND at > p_since;
            IF requests >= k.rpm OR used + p_tokens > k.tpm THEN
                RETURN;
            END IF;
        END IF;
        IF p_budgeted THEN
            SELECT COALESCE(SUM(amount_nano), 0) INTO held
                FROM reservations WHERE key_id = k.id AND expires_at > p_now;
            IF p_amount > k.budget_nano - k.spent_nano - held THEN
                RETURN;
            END IF;
            INSERT INTO reservations VALUES (p_request, k.id, p_amount, p_expires);
        END IF;
        IF p_windowed THEN
            DELETE FROM rate_events WHERE key_id = k.id AND at <= p_since;
            INSERT INTO rate_events VALUES (p_request, k.id, p_now, p_tokens);
        END IF;
        RETURN NEXT;
    END $$""",
]


def migrations(d: Dialect) -> list[tuple[str, list[str]]]:
    """Append-only: a new schema change is a new entry at the end, never an edit."""
    return [
        (
            "001_initial",
            [
                f"""CREATE TABLE keys (
                    id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL, team TEXT NOT NULL,
                    status TEXT NOT NULL, budget_nano {d.big}, spent_nano {d.big} NOT NULL DEFAULT 0,
                    rpm INTEGER, tpm INTEGER, max_tokens INTEGER, models TEXT, created_at {d.real} NOT NULL,
                    expires_at {d.real}, revoked_at {d.real}, note TEXT)""",
                f"""CREATE TABLE reservations (
                    request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, amount_nano {d.big} NOT NULL,
                    expires_at {d.real} NOT NULL)""",
                "CREATE INDEX reservations_key ON reservations (key_id, expires_at)",
                f"""CREATE TABLE rate_events (
                    request_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, at {d.real} NOT NULL,
                    tokens INTEGER NOT NULL)""",
                "CREATE INDEX rate_events_key_at ON rate_events (key_id, at)",
                f"""CREATE TABLE requests (
                    id {d.serial}, request_id TEXT NOT NULL, ts {d.real} NOT NULL, team TEXT, key_id TEXT,
                    route TEXT NOT NULL, model_asked TEXT, model_used TEXT, provider TEXT,
                    input_tokens INTEGER, output_tokens INTEGER, cost_nano {d.big}, latency_ms {d.real},
                    ttft_ms {d.real}, status TEXT NOT NULL, http_status INTEGER NOT NULL, error_class TEXT,
                    error TEXT, stream INTEGER NOT NULL DEFAULT 0, fallback INTEGER NOT NULL DEFAULT 0,
                    payload TEXT)""",
                "CREATE INDEX requests_ts ON requests (ts)",
                "CREATE INDEX requests_team_ts ON requests (team, ts)",
                f"""CREATE TABLE audit (
                    id {d.serial}, ts {d.real} NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                    target TEXT, detail TEXT)""",
            ],
        ),
        (
            "002_key_requests",
            [
                "ALTER TABLE keys ADD COLUMN contact TEXT",
                "ALTER TABLE keys ADD COLUMN reason TEXT",
                "ALTER TABLE keys ADD COLUMN decision TEXT",
                f"ALTER TABLE keys ADD COLUMN decided_at {d.real}",
                "CREATE INDEX keys_status ON keys (status)",
            ],
        ),
        (
            "003_prompts_and_feedback",
            [
                "ALTER TABLE requests ADD COLUMN prompt_name TEXT",
                "ALTER TABLE requests ADD COLUMN prompt_version TEXT",
                "CREATE UNIQUE INDEX requests_request_id ON requests (request_id)",
                f"""CREATE TABLE feedback (
                    id {d.serial}, request_id TEXT NOT NULL, key_id TEXT, ts {d.real} NOT NULL,
                    score {d.real} NOT NULL, comment TEXT)""",
                "CREATE INDEX feedback_request ON feedback (request_id)",
            ],
        ),
        ("004_postgres_admission", POSTGRES_ADMIT if d.name == "postgresql" else []),
        ("005_postgres_admission_known", POSTGRES_ADMIT_KNOWN if d.name == "postgresql" else []),
    ]
