'use strict';
/* global test */
require('../shared/driver.cjs').register('jest', test);
