/**
 * Fake credentials of the real shapes, assembled at run time so that no
 * token-shaped literal sits in the repository (forges' push protection scans
 * for them, and so would orch's own hygiene).
 */
const join = (...parts: string[]) => parts.join("");

/** AWS's own documented example key id (public, inert). */
export const AWS_EXAMPLE_KEY_ID = join("AKIA", "IOSFODNN7EXAMPLE");
export const AWS_SECRET = join("wJalrXUtnFEMI/K7MDENG", "/bPxRfiCYEXAMPLEKEY");
export const GITHUB_TOKEN = join("gh", "p_", "R4nd0mT0k3nV4lu3", "aB3dE5gH7jK9mN1pQ2sT");
export const GITHUB_PAT = join("github", "_pat_", "11ABCDEFG0aZ9bY8cX7dW6_eV5fU4gT3hS2iR1jQ0kP9LmNoPqRsTuVwXyZ0123456789abcdefghijABCDEFGHIJKLMNOPQRST");
export const OPENAI_KEY = join("sk-", "proj-", "Zq8Lm3Np0Rs5Tv2Wx7Yz1Ab4Cd6Ef9Gh");
export const ANTHROPIC_KEY = join("sk-", "ant-", "api03-", "Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc-Vb_NmQwErTyUi12");
export const SLACK_TOKEN = join("xo", "xb-", "1234567890-0987654321-", "AbCdEfGhIjKlMnOpQrStUvWx");
export const GOOGLE_KEY = join("AI", "za", "SyD4f8G2h6J0k3L7m1N5p9Q2r6S0t4U8v2w");
export const STRIPE_KEY = join("sk", "_live_", "51Hq2RbC3dE4fG5hI6jK7lM8n");
export const NPM_TOKEN = join("npm", "_", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
export const GITLAB_TOKEN = join("gl", "pat-", "Xy3Zw9Vb2Nm8Kq4Lp7Rt");
export const JWT = join("ey", "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", ".", "ey", "JzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ", ".", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c");

/** Key material of a fake PEM private key (random-looking base64, no real key). */
export const KEY_BODY = [
  "MIIEowIBAAKCAQEAx3Qv8Wk2nPz9Lm4Rt6Yb1Hc5Df7Gj0Ks3Nv8Qw2Ez4Xa6Sb9Ud",
  "Tf1Rg3Yh5Uj7Ik9Ol0Pm2Qn4Wo6Ep8Rq1Ts3Yu5Iv7Ow9Px0Za2Sc4Dv6Fb8Gn1Hm3",
];
export const PRIVATE_KEY = [join("-----BEGIN ", "RSA PRIVATE KEY-----"), ...KEY_BODY, join("-----END ", "RSA PRIVATE KEY-----")].join("\n") + "\n";

/** A Google service-account JSON file: the key inside with JSON-escaped newlines. */
export const SERVICE_ACCOUNT_JSON = JSON.stringify({ type: "service_account", project_id: "demo", private_key: PRIVATE_KEY, client_email: "ci@demo.iam.gserviceaccount.com" });

/** Every value above: none may appear in anything orch publishes or prints. */
export const ALL_VALUES = [AWS_EXAMPLE_KEY_ID, AWS_SECRET, GITHUB_TOKEN, GITHUB_PAT, OPENAI_KEY, ANTHROPIC_KEY, SLACK_TOKEN, GOOGLE_KEY, STRIPE_KEY, NPM_TOKEN, GITLAB_TOKEN, JWT, ...KEY_BODY];
