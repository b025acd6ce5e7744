import { describe, expect, test } from "bun:test";
import { parseBound, parseDurationSec, parsePeriod } from "../../src/report/period.ts";
import { OrchError } from "../../src/core/errors.ts";

const now = new Date("2026-12-01T12:00:00Z");
const bound = (s: string) => parseBound(s, "--since", now).toISOString();

describe("report period", () => {
  test("durations count back from now", () => {
    expect(parseDurationSec("90m")).toBe(5400);
    expect(parseDurationSec("1h30m")).toBe(5400);
    expect(bound("24h")).toBe("2026-11-30T12:00:00.000Z");
    expect(bound("7d")).toBe("2026-11-24T12:00:00.000Z");
    expect(bound("2w")).toBe("2026-11-17T12:00:00.000Z");
    expect(bound("45s")).toBe("2026-12-01T11:59:15.000Z");
  });

  test("times: ISO with or without seconds and zone (UTC when none), a date is its midnight UTC", () => {
    expect(bound("2026-12-01T06:00Z")).toBe("2026-12-01T06:00:00.000Z");
    expect(bound("2026-12-01T06:00:30Z")).toBe("2026-12-01T06:00:30.000Z");
    expect(bound("2026-12-01T06:00")).toBe("2026-12-01T06:00:00.000Z");
    expect(bound("2026-12-01 06:00")).toBe("2026-12-01T06:00:00.000Z");
    expect(bound("2026-12-01T07:00+01:00")).toBe("2026-12-01T06:00:00.000Z");
    expect(bound("2026-12-01")).toBe("2026-12-01T00:00:00.000Z");
  });

  test("anything else is a usage error naming the accepted forms", () => {
    for (const bad of ["yesterday", "24", "h", "-3h", "2026-02-30", "2026-12-01T25:00Z", "2026-13-01", ""]) {
      let err: unknown;
      try {
        bound(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OrchError);
      expect((err as OrchError).exitCode).toBe(2);
      expect((err as OrchError).message).toContain("90m, 24h, 7d");
      expect((err as OrchError).message).toContain("2026-12-01T06:00Z");
    }
  });

  test("default is the last 24 hours; since must be before until", () => {
    const p = parsePeriod({ now });
    expect(p.since.toISOString()).toBe("2026-11-30T12:00:00.000Z");
    expect(p.until.toISOString()).toBe("2026-12-01T12:00:00.000Z");
    expect(() => parsePeriod({ since: "1h", until: "2h", now })).toThrow(/must be before --until/);
  });
});
