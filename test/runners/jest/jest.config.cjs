module.exports = { rootDir: __dirname, testMatch: ['**/*.test.cjs'], transform: {}, testTimeout: 120000 };
