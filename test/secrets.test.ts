import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { OrchError } from "../src/core/errors.ts";
import { describeHits, makeRedactor, matchSecretPath, redact, scanSecrets } from "../src/core/secrets.ts";
import * as T from "./helpers/secrets.ts";

describe("never-commit path rule", () => {
  test("every path component is matched, directories included, case-insensitively; the reason names the rule", () => {
    const cases: [string, string, string][] = [
      // path, rule, where it matched
      ["secrets.json", "secret*", "secrets.json"],
      ["secrets/prod.json", "secret*", "secrets/"],
      ["deploy/Service-Account.JSON", "service-account*", "deploy/Service-Account.JSON"],
      ["service-account.json", "service-account*", "service-account.json"],
      [".docker/config.json", ".docker", ".docker/"],
      [".config/gcloud/application_default_credentials.json", ".config/gcloud", ".config/gcloud/"],
      ["home/.config/gcloud/", ".config/gcloud", "home/.config/gcloud/"],
      [".env/bin/postactivate.sh", ".env*", ".env/"],
      ["app/.ENV.production", ".env*", "app/.ENV.production"],
      ["home/.ssh/known_hosts", ".ssh", "home/.ssh/"],
      [".aws/config", ".aws", ".aws/"],
      [".gnupg/pubring.kbx", ".gnupg", ".gnupg/"],
      ["aws/credentials", "credentials*", "aws/credentials"],
      ["certs/server.PEM", "*.pem", "certs/server.PEM"],
      ["tls.key/readme.md", "*.key", "tls.key/"],
      ["c.p12", "*.p12", "c.p12"],
      ["keys/id_rsa.pub", "id_rsa*", "keys/id_rsa.pub"],
      ["id_ed25519", "id_ed25519*", "id_ed25519"],
      ["x/.netrc", ".netrc", "x/.netrc"],
      [".npmrc", ".npmrc", ".npmrc"],
      [".pypirc", ".pypirc", ".pypirc"],
      [".git-credentials", ".git-credentials", ".git-credentials"],
      // secret* is a prefix rule, as the spec lists it: "secretary" is blocked too.
      ["reports/secretary-notes.md", "secret*", "reports/secretary-notes.md"],
    ];
    for (const [path, rule, at] of cases) {
      const m = matchSecretPath(path);
      expect({ path, kind: m?.kind, rule: m?.rule, at: m?.at }).toEqual({ path, kind: "secret", rule, at });
      expect(m!.reason).toContain(`"${rule}"`);
    }
  });

  test("tool directories match directory components only; the leftmost rule wins", () => {
    expect(matchSecretPath("web/node_modules/a/b.js")).toMatchObject({ kind: "tool", rule: "node_modules", at: "web/node_modules/" });
    expect(matchSecretPath("node_modules/")).toMatchObject({ kind: "tool", at: "node_modules/" });
    expect(matchSecretPath("a/__pycache__/m.pyc")?.reason).toBe("under a/__pycache__/ (tool directory)");
    expect(matchSecretPath("VENV/bin/python")).toMatchObject({ kind: "tool", at: "VENV/" });
    expect(matchSecretPath(".venv/.env")).toMatchObject({ kind: "tool", at: ".venv/" });
    expect(matchSecretPath("secrets/node_modules/x")).toMatchObject({ kind: "secret", at: "secrets/" });
    // A file that happens to be called like a tool directory is not one.
    expect(matchSecretPath("docs/venv")).toBeNull();
  });

  test("look-alikes are not secrets", () => {
    for (const p of [
      "reports/summary.md", "docs/keys.md", "src/environment.ts", "my.env.md", "config/gcloud/x.json", ".config/gcloudy/x",
      ".config/app.json", "gcloud/.config", "src/venvy/x.py",
      ".github/workflows/ci.yml", "keyboard.md", "pem/notes.txt", "docker/Dockerfile",
    ]) {
      expect({ p, m: matchSecretPath(p) }).toEqual({ p, m: null });
    }
  });
});

/** A text with one secret per line after a plain first line. */
function linesWith(values: string[]): string {
  return ["plain first line", ...values].join("\n") + "\n";
}

describe("scanSecrets", () => {
  test("each well-known shape is found with its kind and line, never its value", () => {
    const text = linesWith([
      `aws_access_key_id = ${T.AWS_EXAMPLE_KEY_ID}`,
      `aws_secret_access_key = ${T.AWS_SECRET}`,
      `export GITHUB_TOKEN=${T.GITHUB_TOKEN}`,
      `token: ${T.GITHUB_PAT}`,
      `OPENAI_API_KEY="${T.OPENAI_KEY}"`,
      `key=${T.ANTHROPIC_KEY}`,
      `slack ${T.SLACK_TOKEN}`,
      `{"apiKey":"${T.GOOGLE_KEY}"}`,
      `stripe ${T.STRIPE_KEY}`,
      `//registry.npmjs.org/:_authToken=${T.NPM_TOKEN}`,
      `gitlab ${T.GITLAB_TOKEN}`,
      `Authorization: Bearer ${T.JWT}`,
      ...T.PRIVATE_KEY.trimEnd().split("\n"),
    ]);
    const hits = scanSecrets(text);
    expect(hits).toEqual([
      { kind: "aws-access-key", line: 2 },
      { kind: "aws-secret-key", line: 3 },
      { kind: "github-token", line: 4 },
      { kind: "github-token", line: 5 },
      { kind: "openai-key", line: 6 },
      { kind: "anthropic-key", line: 7 },
      { kind: "slack-token", line: 8 },
      { kind: "google-api-key", line: 9 },
      { kind: "stripe-key", line: 10 },
      { kind: "npm-token", line: 11 },
      { kind: "gitlab-token", line: 12 },
      { kind: "jwt", line: 13 },
      { kind: "private-key", line: 14 },
    ]);
    const said = JSON.stringify(hits) + describeHits(hits, 100);
    for (const v of T.ALL_VALUES) expect(said).not.toContain(v);
    expect(describeHits(hits)).toBe("aws-access-key on line 2, aws-secret-key on line 3, github-token on line 4 and 10 more");
  });

  test("bytes and text give the same answer; a JSON-escaped key (service-account file, stream-json log) is found", () => {
    const text = linesWith([`{"AccessKeyId": "${T.AWS_EXAMPLE_KEY_ID}"}`]);
    expect(scanSecrets(new TextEncoder().encode(text))).toEqual(scanSecrets(text));
    expect(scanSecrets(T.SERVICE_ACCOUNT_JSON)).toEqual([{ kind: "private-key", line: 1 }]);
    expect(scanSecrets(`{"SecretAccessKey": "${T.AWS_SECRET}"}`)).toEqual([{ kind: "aws-secret-key", line: 1 }]);
  });

  test("placeholders, prose and look-alikes are not secrets", () => {
    const text = linesWith([
      "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX",
      "AKIA0000000000000000 and ASIA____ in docs",
      `GITHUB_TOKEN=ghp_${"x".repeat(36)}`,
      "OPENAI_API_KEY=sk-your-openai-api-key-here",
      "pip install scikit-learn # sk-learn",
      "see docs/task-runner-configuration-notes.md",
      "slack xoxb-your-token-here",
      "if line.startswith('-----BEGIN RSA PRIVATE KEY-----'):",
      "-----BEGIN PUBLIC KEY-----",
      // An access key id inside a longer word is not one (base64 blobs, hashes).
      `blob:Q${T.AWS_EXAMPLE_KEY_ID}Z9`,
      "aws_secret_access_key = <your secret here>",
      "eyJhbGciOiJIUzI1NiJ9 alone is only a header",
    ]);
    expect(scanSecrets(text)).toEqual([]);
  });

  test("binary files are scanned as latin1: random bytes never match, a key pasted into one is found", () => {
    const noise = randomBytes(4 * 1024 * 1024);
    expect(scanSecrets(noise)).toEqual([]);
    const b64 = randomBytes(3 * 1024 * 1024).toString("base64");
    expect(scanSecrets(b64)).toEqual([]);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(1000), Buffer.from(`\0${T.GITHUB_TOKEN}\0`), randomBytes(1000)]);
    expect(scanSecrets(png).map((h) => h.kind)).toEqual(["github-token"]);
  });

  test("a large text with a few secrets: every one found with the right line", () => {
    const filler = "2026-01-01T00:00:00Z [agent] ran 42 tests, token budget 1234, authorization ok\n";
    const lines = Array.from({ length: 200_000 }, () => filler);
    lines[1234] = `leaked ${T.AWS_EXAMPLE_KEY_ID}\n`;
    lines[150_000] = `again ${T.GITHUB_TOKEN}\n`;
    expect(scanSecrets(lines.join(""))).toEqual([
      { kind: "aws-access-key", line: 1235 },
      { kind: "github-token", line: 150_001 },
    ]);
  });
});

describe("redact", () => {
  test("token shapes become markers; labels and the rest of the text stay", () => {
    const text = [
      `id ${T.AWS_EXAMPLE_KEY_ID} ok`,
      `aws_secret_access_key = ${T.AWS_SECRET}`,
      `push with ${T.GITHUB_TOKEN}, then ${T.ANTHROPIC_KEY} and ${T.OPENAI_KEY}`,
      `google=${T.GOOGLE_KEY}; slack=${T.SLACK_TOKEN}; npm=${T.NPM_TOKEN}`,
    ].join("\n");
    const r = redact(text);
    expect(r.text).toBe(
      [
        "id [REDACTED:aws-access-key] ok",
        "aws_secret_access_key = [REDACTED:aws-secret-key]",
        "push with [REDACTED:github-token], then [REDACTED:anthropic-key] and [REDACTED:openai-key]",
        "google=[REDACTED:google-api-key]; slack=[REDACTED:slack-token]; npm=[REDACTED:npm-token]",
      ].join("\n"),
    );
    expect(r.count).toBe(8);
    expect(r.kinds).toMatchObject({ "aws-access-key": 1, "github-token": 1, "openai-key": 1 });
    // Redacting twice changes nothing: markers never match a rule.
    expect(redact(r.text)).toEqual({ text: r.text, count: 0, kinds: {} });
  });

  test("a private key block goes whole, END line included; one without END loses its base64 lines only", () => {
    const r = redact(`before\n${T.PRIVATE_KEY}after\n`);
    expect(r.text).toBe("before\n[REDACTED:private-key]\nafter\n");
    const cut = T.PRIVATE_KEY.split("\n").slice(0, 2).join("\n");
    expect(redact(`before\n${cut}\nthe log went on\n`).text).toBe("before\n[REDACTED:private-key]\nthe log went on\n");
    // JSON-escaped newlines (a stream-json log quoting a service-account file).
    const json = redact(T.SERVICE_ACCOUNT_JSON).text;
    expect(json).toContain('"private_key":"[REDACTED:private-key]\\n"');
    for (const line of T.KEY_BODY) expect(json).not.toContain(line.slice(0, 20));
  });

  test("Authorization values and bearer tokens; prose about bearers stays", () => {
    const r = redact(
      [
        "> Authorization: Basic dXNlcjpwYXNzd29yZA==",
        '{"headers":{"authorization":"Bearer abc.def.ghi-123"}}',
        "curl -H 'Authorization: token s3cr3t-value' https://x",
        "sent bearer 0a1b2c3d4e5f6a7b8c9d",
        "Bearer authentication is described in RFC 6750",
      ].join("\n"),
    );
    expect(r.text).toBe(
      [
        "> Authorization: [REDACTED:authorization]",
        '{"headers":{"authorization":"[REDACTED:authorization]"}}',
        "curl -H 'Authorization: [REDACTED:authorization]' https://x",
        "sent bearer [REDACTED:bearer]",
        "Bearer authentication is described in RFC 6750",
      ].join("\n"),
    );
  });

  test("values of KEY/TOKEN/SECRET/PASSWORD variables, raw and JSON-escaped; short, numeric and path values stay", () => {
    const env = {
      MY_API_KEY: "k3y-V4lue-0f-mine",
      DB_PASSWORD: 'pa"ss\\word99',
      SESSION_SECRET: "s3ss10n-s3cr3t",
      DEBUG_TOKEN: "1",
      KEYBOARD: "true",
      MAX_TOKENS: "100000000",
      SSH_KEY_PATH: "/home/u/.ssh/id_rsa_work",
      HOME: "/home/u/k3y-V4lue-not-a-secret-name",
      PLAIN: "k3y-V4lue-0f-mine-too",
    };
    const text = [
      "using k3y-V4lue-0f-mine for the call",
      '{"text":"password is pa\\"ss\\\\word99"}',
      "raw pa\"ss\\word99 and s3ss10n-s3cr3t",
      "DEBUG_TOKEN=1 true 100000000 /home/u/.ssh/id_rsa_work",
    ].join("\n");
    const r = redact(text, { env });
    expect(r.text).toBe(
      [
        "using [REDACTED:env:MY_API_KEY] for the call",
        '{"text":"password is [REDACTED:env:DB_PASSWORD]"}',
        "raw [REDACTED:env:DB_PASSWORD] and [REDACTED:env:SESSION_SECRET]",
        "DEBUG_TOKEN=1 true 100000000 /home/u/.ssh/id_rsa_work",
      ].join("\n"),
    );
    expect(r.kinds).toEqual({ "env:MY_API_KEY": 1, "env:DB_PASSWORD": 2, "env:SESSION_SECRET": 1 });
  });

  test("user patterns: the whole match, or only the first group; a bad pattern is a usage error", () => {
    const r = redact("ticket=ACME-12345 internal host db7.corp.example", { patterns: ["ACME-[0-9]+", String.raw`host (\S+)`] });
    expect(r.text).toBe("ticket=[REDACTED:pattern] internal host [REDACTED:pattern]");
    expect(r.count).toBe(2);
    for (const bad of ["(unclosed", "x*"]) {
      let err: unknown;
      try {
        makeRedactor({ patterns: [bad] });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OrchError);
      expect((err as OrchError).exitCode).toBe(2);
      expect((err as OrchError).message).toContain("logs.redact_patterns");
    }
  });

  test("a multi-MiB log: every secret redacted, the rest byte for byte", () => {
    const filler = '{"type":"assistant","message":{"content":[{"type":"text","text":"ran 42 tests; all passed"}]}}\n';
    const lines = Array.from({ length: 60_000 }, () => filler);
    lines[10] = `{"text":"export AWS_ACCESS_KEY_ID=${T.AWS_EXAMPLE_KEY_ID}"}\n`;
    lines[59_999] = `{"text":"gh auth login --with-token ${T.GITHUB_TOKEN}"}\n`;
    const text = lines.join("");
    const r = makeRedactor({ env: { GH_TOKEN: T.GITHUB_TOKEN, MY_API_KEY: "an-api-key-1234" } })(text);
    expect(r.count).toBe(2);
    const expected = [...lines];
    expected[10] = '{"text":"export AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key]"}\n';
    expected[59_999] = '{"text":"gh auth login --with-token [REDACTED:github-token]"}\n';
    expect(r.text === expected.join("")).toBe(true);
  });
});
