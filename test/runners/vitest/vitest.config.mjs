export default { test: { root: import.meta.dirname, include: ['suite.test.mjs'], testTimeout: 120000 } };
