// The lake: Parquet objects on S3-compatible storage, their layout and commit log, and DuckDB over them.
export * from './duckdb.js';
export * from './layout.js';
export * from './manifest.js';
export * from './model.js';
export * from './object-store.js';
