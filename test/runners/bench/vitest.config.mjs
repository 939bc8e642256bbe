export default { test: { root: import.meta.dirname, include: ['vitest.test.mjs'], testTimeout: 300000, pool: 'forks' } };
