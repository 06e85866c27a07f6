/**
 * Set by the bundler (esbuild `define`) to the text of the file STS_PROFILES_FILE names at
 * build time; undeclared at run time otherwise, which `typeof` tolerates.
 */
declare const __STS_PROFILES_JSON__: string | undefined;
