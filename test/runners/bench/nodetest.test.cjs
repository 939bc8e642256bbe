'use strict';
const { test } = require('node:test');
require('../shared/driver.cjs').register('node:test', test);
