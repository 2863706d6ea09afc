-- SQLite's functions that the store's SQL (and the schema's checks) use and
-- PostgreSQL lacks or spells otherwise, defined with SQLite's meaning for the
-- inputs the store gives them. Run by every Open on PostgreSQL, before the
-- migrations (the checks of pg/0001 call date and json_valid), in the
-- migration transaction under the schema lock: CREATE OR REPLACE keeps it
-- idempotent. Declared IMMUTABLE where an index or a check uses them; they
-- are, given the session time zone UTC that Open sets (timezone=UTC in the
-- connection string).

-- date(x): the day of an ISO date or time as YYYY-MM-DD, NULL when x is not
-- one (SQLite's date). A day past its month's end rolls over as in SQLite
-- ('2025-02-30' is '2025-03-02'), so a check `date(x) = x` refuses it on
-- both engines (a NULL, for text that is no date at all, passes a check on
-- both).
CREATE OR REPLACE FUNCTION date(x text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	m int;
	d int;
BEGIN
	IF x IS NULL THEN
		RETURN NULL;
	END IF;
	IF x ~ '^\d{4}-\d{2}-\d{2}$' THEN
		m := substr(x, 6, 2)::int;
		d := substr(x, 9, 2)::int;
		IF m NOT BETWEEN 1 AND 12 OR d NOT BETWEEN 1 AND 31 THEN
			RETURN NULL;
		END IF;
		RETURN to_char(make_date(substr(x, 1, 4)::int, m, 1) + (d - 1), 'YYYY-MM-DD');
	END IF;
	RETURN to_char((x::timestamptz AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD');
EXCEPTION WHEN others THEN
	RETURN NULL;
END $$;

-- date(x, modifier): the day of x shifted by an interval modifier such as
-- '+7 hours' (the only kind the store uses: Vietnam's day of a UTC time).
CREATE OR REPLACE FUNCTION date(x text, modifier text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	IF x IS NULL THEN
		RETURN NULL;
	END IF;
	RETURN to_char(((x::timestamptz AT TIME ZONE 'UTC') + modifier::interval)::date, 'YYYY-MM-DD');
EXCEPTION WHEN others THEN
	RETURN NULL;
END $$;

-- json_valid(x): whether x is well-formed JSON (a boolean here, for checks).
CREATE OR REPLACE FUNCTION json_valid(x text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
	PERFORM x::json;
	RETURN x IS NOT NULL;
EXCEPTION WHEN others THEN
	RETURN false;
END $$;

-- json(x): x as JSON, so json_build_object (json_object on SQLite) nests it
-- instead of quoting it as a string.
CREATE OR REPLACE FUNCTION json(x text) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT x::json $$;

-- instr(haystack, needle): 1-based position of needle, 0 when absent.
CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT strpos(haystack, needle)::bigint $$;

-- json_each(x): the elements of a JSON array given as text, each as text
-- (a string without its quotes, a number or an array as its JSON text), with
-- its index as key. SQLite's values are typed; where the store compares them
-- with a number it casts (CAST(value AS BIGINT)), which both engines accept.
-- The text argument does not clash with PostgreSQL's json_each(json): an
-- untyped parameter resolves to text.
CREATE OR REPLACE FUNCTION json_each(x text) RETURNS TABLE (key bigint, value text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT (e.n - 1)::bigint, CASE json_typeof(e.v) WHEN 'string' THEN e.v #>> '{}' ELSE e.v::text END
	FROM json_array_elements(x::json) WITH ORDINALITY AS e(v, n)
$$;

-- json_each(x, path): json_each of the array at path ('$.a' or '$.a.b').
CREATE OR REPLACE FUNCTION json_each(x text, path text) RETURNS TABLE (key bigint, value text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT j.key, j.value FROM json_each((x::json #> string_to_array(substr(path, 3), '.'))::text) j
$$;

-- json_extract(x, path): the value at path ('$.a', '$.a.b' or '$[n]') as
-- text (SQLite returns typed values; callers that need a number cast), an
-- object or array as its JSON text, NULL when absent or JSON null.
CREATE OR REPLACE FUNCTION json_extract(x text, path text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE WHEN v IS NULL OR json_typeof(v) = 'null' THEN NULL
		WHEN json_typeof(v) = 'string' THEN v #>> '{}' ELSE v::text END
	FROM (SELECT x::json #> string_to_array(
		regexp_replace(regexp_replace(substr(path, 2), '\[(\d+)\]', '.\1', 'g'), '^\.', ''), '.') AS v) p
$$;

-- json_array_length(x) of a JSON array given as text. Beside json_each(text)
-- so that a parameter both take (json_array_length(?2) = 0 OR … json_each(?2))
-- resolves to text in both.
CREATE OR REPLACE FUNCTION json_array_length(x text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT json_array_length(x::json)::bigint $$;

-- max(a, b) and min(a, b): SQLite's scalar max and min of two values, NULL
-- when either is (GREATEST and LEAST skip NULLs). One-argument max and min
-- stay PostgreSQL's aggregates.
CREATE OR REPLACE FUNCTION max(a anycompatible, b anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE GREATEST(a, b) END $$;
CREATE OR REPLACE FUNCTION min(a anycompatible, b anycompatible) RETURNS anycompatible
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE LEAST(a, b) END $$;

-- x ->> key and x ->> index on JSON kept as text (SQLite's ->> takes the
-- text of a JSON column; PostgreSQL's takes json). Text comes back: where
-- the store needs a number it casts.
CREATE OR REPLACE FUNCTION toso_json_get(x text, k text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT x::json ->> k $$;
CREATE OR REPLACE FUNCTION toso_json_get(x text, i integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT x::json ->> i $$;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = '->>' AND oprleft = 'text'::regtype AND oprright = 'text'::regtype) THEN
		CREATE OPERATOR ->> (LEFTARG = text, RIGHTARG = text, FUNCTION = toso_json_get);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_operator WHERE oprname = '->>' AND oprleft = 'text'::regtype AND oprright = 'integer'::regtype) THEN
		CREATE OPERATOR ->> (LEFTARG = text, RIGHTARG = integer, FUNCTION = toso_json_get);
	END IF;
END $$;

-- hex(x): the bytes of x as upper-case hex digits, as SQLite writes them.
CREATE OR REPLACE FUNCTION hex(x bytea) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT upper(encode(x, 'hex')) $$;

-- round(x, digits) of a double (PostgreSQL rounds numeric only), a double
-- back as in SQLite.
CREATE OR REPLACE FUNCTION round(x double precision, digits integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT round(x::numeric, digits)::double precision $$;

-- json_set(x, path, value): x with value at path ('$.a' or '$.a.b'), as
-- text. jsonb writes the object back with its keys in its own order and a
-- space after each colon; readers parse it (field_versions), none compares
-- its bytes.
CREATE OR REPLACE FUNCTION json_set(x text, path text, value json) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT jsonb_set(x::jsonb, string_to_array(substr(path, 3), '.'), value::jsonb, true)::text
$$;
