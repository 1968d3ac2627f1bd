/** The agent runner suite again, against a fresh PostgreSQL database (DATABASE_URL). */
process.env.REXEC_TEST_DATABASE = 'postgres';
await import('./runs.test.js');
