'use strict';
/* global it */
require('../shared/driver.cjs').register('mocha', it);
