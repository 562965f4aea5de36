-- The raw input rows, exactly as read from the CSV file(s): every column is TEXT.
-- test/integration.sh imports each input file into a staging table whose columns
-- follow that file's own header, then copies it into `events` by column NAME
-- (clickmill maps columns by name, so files may order them differently).
CREATE TABLE events (
    event_time    TEXT,
    event_type    TEXT,
    product_id    TEXT,
    category_id   TEXT,
    category_code TEXT,
    brand         TEXT,
    price         TEXT,
    user_id       TEXT,
    user_session  TEXT
);
