#!/usr/bin/env node
// Computes the eight tables of docs/data-contract.md with DuckDB, from the same CSV file(s)
// that `clickmill analyze` reads, and writes them as OUT/tables/NAME.csv in exactly clickmill's
// format, so that bench/compare_tables.py can compare them; prints its timings as JSON.
//
// usage: node bench/peers/duckdb_tables.mjs [--threads N] [--mode csv|table] [--repeat K]
//                                           --out DIR FILE...
//        node bench/peers/duckdb_tables.mjs --version   (loads DuckDB, prints its version)
//   --mode csv    one SQL statement straight over read_csv() (explicit column types): the file
//                 is read once, into a materialized CTE that every table is computed from.
//   --mode table  CREATE TABLE events AS SELECT * FROM read_csv(...) first (timed apart, as
//                 load_seconds), then the same statement over the table, once to warm up and
//                 K more times (--repeat, default 1), each timed alone.
//   --threads N   SET threads = N (default 1).
//
// The SQL adapts test/sql/tables.sql (the definitions the integration test checks clickmill
// against) and test/sql/expected_csv.sql (the exact CSV rendering). Every input row is taken
// as accepted, so rows_rejected is 0: a malformed row makes read_csv fail instead. The files
// must share one header; its column names map the columns, so any column order works.
// @duckdb/node-api is found in bench/node_modules (`npm install --prefix bench`).
import { closeSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TABLES = {
  summary: 'rows,rows_rejected,users,sessions,products,revenue,first_event,last_event',
  funnel: 'event_type,events,users,sessions',
  categories: 'category,views,carts,purchases,revenue',
  category_brands: 'category,brand,views,carts,purchases,revenue',
  category_products: 'category,product,views,carts,purchases,revenue',
  brands: 'brand,views,carts,purchases,revenue',
  days: 'date,views,carts,purchases,revenue,users,sessions',
  hours: 'hour,views,carts,purchases,revenue,users,users_cumulative',
};

// The input columns and the types read_csv gives them; columns not named here stay VARCHAR.
const COLUMN_TYPES = {
  event_time: 'TIMESTAMP', // with timestampformat below: 'YYYY-MM-DD HH:MM:SS UTC'
  event_type: 'VARCHAR',
  product_id: 'BIGINT',
  category_id: 'BIGINT',
  category_code: 'VARCHAR',
  brand: 'VARCHAR',
  price: 'DOUBLE',
  user_id: 'BIGINT',
  user_session: 'VARCHAR',
};

function fail(message) {
  process.stderr.write(`duckdb_tables.mjs: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { threads: 1, mode: 'csv', repeat: 1, out: null, files: [], version: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--threads': args.threads = Number(value()); break;
      case '--mode': args.mode = value(); break;
      case '--repeat': args.repeat = Number(value()); break;
      case '--out': args.out = value(); break;
      case '--version': args.version = true; break;
      default:
        if (argv[i].startsWith('--')) fail(`unknown option ${argv[i]}`);
        args.files.push(argv[i]);
    }
  }
  for (const name of ['threads', 'repeat']) {
    if (!Number.isInteger(args[name]) || args[name] < 1) {
      fail(`--${name} must be a positive integer`);
    }
  }
  if (!['csv', 'table'].includes(args.mode)) fail('--mode must be csv or table');
  if (!args.version && (!args.out || args.files.length === 0)) {
    fail('usage: duckdb_tables.mjs [--threads N] [--mode csv|table] [--repeat K] ' +
         '--out DIR FILE...');
  }
  return args;
}

// The header line of FILE as a list of column names (a UTF-8 byte order mark and a CR dropped).
function headerOf(file) {
  const buffer = Buffer.alloc(65536);
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    fail(`cannot open ${file}: ${err.message}`);
  }
  const length = readSync(fd, buffer, 0, buffer.length, 0);
  closeSync(fd);
  let line = buffer.subarray(0, length).toString('utf8').split('\n')[0].replace(/\r$/, '');
  if (line.startsWith('\ufeff')) line = line.slice(1);
  return line.split(',');
}

const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;

// read_csv over FILES with explicit types, the columns named by the first file's header.
function readCsv(files) {
  const header = headerOf(files[0]);
  for (const file of files.slice(1)) {
    if (headerOf(file).join(',') !== header.join(',')) {
      fail(`${file}: another header than ${files[0]}`);
    }
  }
  const missing = Object.keys(COLUMN_TYPES).filter((name) => !header.includes(name));
  if (missing.length) fail(`${files[0]}: the header lacks ${missing.join(', ')}`);
  const columns = header.map((name) => `${sqlString(name)}: '${COLUMN_TYPES[name] ?? 'VARCHAR'}'`);
  return `read_csv([${files.map(sqlString).join(', ')}], header = true, auto_detect = false,
    delim = ',', quote = '"', escape = '"', timestampformat = '%Y-%m-%d %H:%M:%S UTC',
    columns = {${columns.join(', ')}})`;
}

// RFC 4180 quoting as in the contract, and integer cents as money with exactly 2 decimals
// (test/sql/expected_csv.sql's quoted() and money()).
const MACROS = `
CREATE OR REPLACE MACRO csv_field(s) AS
    CASE WHEN contains(s, ',') OR contains(s, '"') OR contains(s, chr(13)) OR contains(s, chr(10))
         THEN '"' || replace(s, '"', '""') || '"' ELSE s END;
CREATE OR REPLACE MACRO money(c) AS
    CASE WHEN c < 0 THEN '-' ELSE '' END || printf('%d.%02d', abs(c) // 100, abs(c) % 100);
`;

// One statement that gives every table as (name, seq, line): the CSV data lines in order.
function tablesSql(source) {
  const sums = `sum(is_view) || ',' || sum(is_cart) || ',' || sum(is_purchase) || ','
                || money(sum(cents)::BIGINT)`;
  return `
WITH ev AS MATERIALIZED (
    -- One row per event with the derived fields of the contract (test/sql/tables.sql, ev).
    -- read_csv gives NULL for an empty field.
    SELECT
        event_time,
        event_type,
        product_id,
        user_id,
        coalesce(brand, '')                                AS brand,
        nullif(user_session, '')                           AS session,
        CASE WHEN coalesce(category_code, '') <> '' THEN split_part(category_code, '.', 1)
             WHEN coalesce(brand, '') <> ''         THEN brand
             ELSE 'unknown' END                            AS category,
        CASE WHEN coalesce(category_code, '') <> '' THEN regexp_extract(category_code, '[^.]*$')
             WHEN coalesce(brand, '') <> ''         THEN brand
             ELSE 'unknown' END                            AS product,
        CAST(event_time AS DATE)                           AS date,
        hour(event_time)                                   AS hour,
        CAST(event_type = 'view' AS INTEGER)               AS is_view,
        CAST(event_type = 'cart' AS INTEGER)               AS is_cart,
        CAST(event_type = 'purchase' AS INTEGER)           AS is_purchase,
        CASE WHEN event_type = 'purchase' THEN CAST(round(price * 100) AS BIGINT) ELSE 0 END
                                                           AS cents
    FROM ${source}
),
per_hour AS (
    SELECT hour, sum(is_view) AS views, sum(is_cart) AS carts, sum(is_purchase) AS purchases,
           sum(cents) AS cents, count(DISTINCT user_id) AS users
    FROM ev GROUP BY hour
),
first_hour AS (
    -- users_cumulative(h): users whose earliest hour of day, over all their events, is <= h.
    SELECT hour, count(*) AS users
    FROM (SELECT user_id, min(hour) AS hour FROM ev GROUP BY user_id)
    GROUP BY hour
)
SELECT 'summary' AS name, 1 AS seq,
       count(*) || ',0,' || count(DISTINCT user_id) || ',' || count(DISTINCT session) || ','
       || count(DISTINCT product_id) || ',' || money(coalesce(sum(cents), 0)::BIGINT) || ','
       || coalesce(strftime(min(event_time), '%Y-%m-%d %H:%M:%S UTC'), '') || ','
       || coalesce(strftime(max(event_time), '%Y-%m-%d %H:%M:%S UTC'), '') AS line
FROM ev
UNION ALL
SELECT 'funnel', row_number() OVER (ORDER BY event_type),
       csv_field(event_type) || ',' || count(*) || ',' || count(DISTINCT user_id) || ','
       || count(DISTINCT session)
FROM ev GROUP BY event_type
UNION ALL
SELECT 'categories', row_number() OVER (ORDER BY category),
       csv_field(category) || ',' || ${sums}
FROM ev GROUP BY category
UNION ALL
SELECT 'category_brands', row_number() OVER (ORDER BY category, brand),
       csv_field(category) || ',' || csv_field(brand) || ',' || ${sums}
FROM ev GROUP BY category, brand
UNION ALL
SELECT 'category_products', row_number() OVER (ORDER BY category, product),
       csv_field(category) || ',' || csv_field(product) || ',' || ${sums}
FROM ev GROUP BY category, product
UNION ALL
SELECT 'brands', row_number() OVER (ORDER BY brand),
       csv_field(brand) || ',' || ${sums}
FROM ev GROUP BY brand
UNION ALL
SELECT 'days', row_number() OVER (ORDER BY date),
       strftime(date, '%Y-%m-%d') || ',' || ${sums} || ',' || count(DISTINCT user_id) || ','
       || count(DISTINCT session)
FROM ev GROUP BY date
UNION ALL
SELECT 'hours', h.hour + 1,
       h.hour || ',' || coalesce(p.views, 0) || ',' || coalesce(p.carts, 0) || ','
       || coalesce(p.purchases, 0) || ',' || money(coalesce(p.cents, 0)::BIGINT) || ','
       || coalesce(p.users, 0) || ','
       || sum(coalesce(f.users, 0)) OVER (ORDER BY h.hour)
FROM range(24) AS h(hour)
LEFT JOIN per_hour AS p ON p.hour = h.hour
LEFT JOIN first_hour AS f ON f.hour = h.hour
ORDER BY name, seq`;
}

// Writes OUT/tables/NAME.csv (header, then the lines) under a temporary name, then renames it.
function writeTables(out, rows) {
  const lines = Object.fromEntries(Object.keys(TABLES).map((name) => [name, []]));
  for (const [name, , line] of rows) lines[name].push(line);
  const dir = join(out, 'tables');
  mkdirSync(dir, { recursive: true });
  for (const [name, header] of Object.entries(TABLES)) {
    const path = join(dir, `${name}.csv`);
    writeFileSync(`${path}.tmp`, [header, ...lines[name]].map((l) => `${l}\n`).join(''));
    renameSync(`${path}.tmp`, path);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let duckdb;
  try {
    duckdb = await import('@duckdb/node-api');
  } catch (err) {
    fail(`cannot load @duckdb/node-api (${err.code ?? err.message}): ` +
         'install it with `npm install --prefix bench --no-package-lock` from the repository root');
  }
  const seconds = (start) => (performance.now() - start) / 1000;
  const started = performance.now();
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  if (args.version) {
    const version = duckdb.default.version();
    process.stdout.write(`DuckDB ${version} (@duckdb/node-api, node ${process.version})\n`);
    connection.closeSync();
    return;
  }
  await connection.run(`SET threads = ${args.threads}`);
  await connection.run(MACROS);
  const source = readCsv(args.files);
  const result = {
    tool: 'duckdb', version: duckdb.default.version(), node: process.version, mode: args.mode,
    threads: args.threads, files: args.files, load_seconds: null, query_seconds: [],
    write_seconds: [], seconds: [],
  };

  let sql = tablesSql(source);
  let runs = 1;
  if (args.mode === 'table') {
    const start = performance.now();
    await connection.run(`CREATE TABLE events AS SELECT * FROM ${source}`);
    result.load_seconds = seconds(start);
    sql = tablesSql('events');
    runs = 1 + args.repeat; // the first is the warm-up
  }
  for (let run = 0; run < runs; run++) {
    let start = performance.now();
    const reader = await connection.runAndReadAll(sql);
    const rows = reader.getRowsJson();
    const query = seconds(start);
    start = performance.now();
    writeTables(args.out, rows);
    const write = seconds(start);
    if (args.mode === 'table' && run === 0) {
      result.warmup_seconds = query + write;
      continue;
    }
    result.query_seconds.push(query);
    result.write_seconds.push(write);
    result.seconds.push(query + write);
  }
  result.process_seconds = seconds(started);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  connection.closeSync();
}

main().catch((err) => fail(err.message));
