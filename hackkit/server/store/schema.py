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


# PostgreSQL's settlement of many requests in one call, from a worker's journal (``journal.py``):
# the keys are locked first, in one order (two workers' batches never deadlock), then each entry
# releases its reservation, is logged, charged (at most what was reserved) and counted. An entry
# whose log row exists already (``request_id`` is unique) is not charged again, so a journal
# shipped twice, or shipped while a killed worker's last statement still ran, settles each request
# once. A request whose reservation lapsed before its settlement landed (its worker lost the
# database for longer than the reservation's ttl) is charged at most what its key's budget has
# left, so a late settlement never takes a key past its budget. Each statement is a cached plan on
# an index; returns how many requests were new to the log. ``store_identity`` is the database's own
# random id, which journal files are named after (a folder served against another database never
# ships its files here).
POSTGRES_SETTLE_MANY = [
    "CREATE TABLE store_identity (id TEXT NOT NULL)",
    "INSERT INTO store_identity VALUES (md5(random()::text || clock_timestamp()::text))",
    """CREATE FUNCTION hackkit_settle_many(p_entries JSON) RETURNS INTEGER LANGUAGE plpgsql AS $$
    DECLARE
        e RECORD;
        held BIGINT;
        charge BIGINT;
        until DOUBLE PRECISION;
        k keys;
        live BIGINT;
        inserted INTEGER;
        logged INTEGER := 0;
    BEGIN
        PERFORM 1 FROM keys WHERE id IN (SELECT x->>'_key' FROM json_array_elements(p_entries) x)
            ORDER BY id FOR UPDATE;
        FOR e IN SELECT * FROM json_to_recordset(p_entries) AS s(
            _key TEXT, _cost BIGINT, _tokens BIGINT, _windowed BOOLEAN, request_id TEXT, ts DOUBLE PRECISION,
            team TEXT, key_id TEXT, route TEXT, model_asked TEXT, model_used TEXT, provider TEXT,
            input_tokens INTEGER, output_tokens INTEGER, latency_ms DOUBLE PRECISION, ttft_ms DOUBLE PRECISION,
            status TEXT, http_status INTEGER, error_class TEXT, error TEXT, stream INTEGER, fallback INTEGER,
            payload TEXT, prompt_name TEXT, prompt_version TEXT)
        LOOP
            DELETE FROM reservations WHERE request_id = e.request_id RETURNING amount_nano, expires_at INTO held, until;
            charge := LEAST(e._cost, COALESCE(held, e._cost));
            IF (held IS NULL OR until <= extract(epoch FROM clock_timestamp())) AND charge > 0 THEN
                -- no reservation (none was needed, or it lapsed and was swept), or a lapsed one
                SELECT * INTO k FROM keys WHERE id = e._key;
                IF k.budget_nano IS NOT NULL THEN
                    SELECT COALESCE(SUM(amount_nano), 0) INTO live FROM reservations
                        WHERE key_id = e._key AND expires_at > extract(epoch FROM clock_timestamp());
                    charge := LEAST(charge, GREATEST(0, k.budget_nano - k.spent_nano - live));
                END IF;
            END IF;
            INSERT INTO requests (request_id, ts, team, key_id, route, model_asked, model_used, provider,
                input_tokens, output_tokens, cost_nano, latency_ms, ttft_ms, status, http_status, error_class,
                error, stream, fallback, payload, prompt_name, prompt_version)
            VALUES (e.request_id, e.ts, e.team, e.key_id, e.route, e.model_asked, e.model_used, e.provider,
                e.input_tokens, e.output_tokens, charge, e.latency_ms, e.ttft_ms, e.status, e.http_status,
                e.error_class, e.error, COALESCE(e.stream, 0), COALESCE(e.fallback, 0), e.payload, e.prompt_name,
                e.prompt_version)
            ON CONFLICT (request_id) DO NOTHING;
            GET DIAGNOSTICS inserted = ROW_COUNT;
            IF inserted > 0 THEN
                logged := logged + 1;
                IF charge > 0 THEN
                    UPDATE keys SET spent_nano = spent_nano + charge WHERE id = e._key;
                END IF;
            END IF;
            IF e._windowed THEN
                UPDATE rate_events SET tokens = e._tokens WHERE request_id = e.request_id;
            END IF;
        END LOOP;
        RETURN logged;
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
        ("006_postgres_settle_many", POSTGRES_SETTLE_MANY if d.name == "postgresql" else []),
    ]
