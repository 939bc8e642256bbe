module.exports = { rootDir: __dirname, testMatch: ['**/jest.test.cjs'], transform: {}, testTimeout: 300000 };
