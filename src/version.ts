/** The package's version, sent in the default `user-agent` (a test keeps it equal to package.json's). */
export const VERSION = '0.1.0';
