/** The end-to-end suite again, against a fresh PostgreSQL database (DATABASE_URL). */
process.env.REXEC_TEST_DATABASE = 'postgres';
await import('./e2e.test.js');
