/**
 * Whether an environment variable looks like it carries a secret, judged on the words of its name (no Pulumi, no
 * resources): the config loader rejects such names in plain `extraEnvironment`, and the policy pack rejects them in a
 * task definition's `environment`. One definition, so the two never disagree.
 */

/** Words that make a name a secret (compared with the name's `_`-separated words, so MAX_TOKENS is not TOKEN). */
const SECRET_WORDS = new Set(["PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "KEY", "APIKEY", "CREDENTIAL", "CREDENTIALS", "DSN"]);

/**
 * A last word that makes the name a setting about a secret rather than the secret: Dify's ACCESS_TOKEN_EXPIRE_MINUTES,
 * REDIS_KEY_PREFIX, NGINX_SSL_CERT_KEY_FILENAME, WEAVIATE_AUTHENTICATION_APIKEY_ENABLED, ALIYUN_SLS_ACCESS_KEY_ID.
 */
const SETTING_SUFFIXES = new Set([
    "MINUTES",
    "HOURS",
    "DAYS",
    "SECONDS",
    "EXPIRY",
    "EXPIRE",
    "ENABLED",
    "ENABLE",
    "LENGTH",
    "PREFIX",
    "FILENAME",
    "FILE",
    "PATH",
    "METHOD",
    "PROVIDER",
    "VERSION",
    "TYPE",
    "ID",
    "ARN",
    "NAME",
]);

/** A URL with a password in its user info, e.g. `rediss://:token@host:6379/1` or `postgresql://user:pass@host/db`. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]+@/i;

/** True when the name says the variable holds a secret (PASSWORD, SECRET, TOKEN, KEY, CREDENTIALS, DSN, ...). */
export function isSecretLookingName(name: string): boolean {
    const words = name.toUpperCase().split(/[^A-Z0-9]+/).filter(Boolean);
    // "PER TOKEN" is a unit (OPENAPI_RATE_LIMIT_PER_TOKEN), not a token.
    const secretWord = words.some((w, i) => SECRET_WORDS.has(w) && words[i - 1] !== "PER");
    return secretWord && !SETTING_SUFFIXES.has(words[words.length - 1]);
}

/** True when a value is a URL carrying a password (a broker or database URL with credentials). */
export function isUrlWithPassword(value: unknown): boolean {
    return typeof value === "string" && URL_WITH_PASSWORD.test(value);
}
