import { describe, expect, test } from "bun:test";
import { epochToDate, limitWaitMs, normalizeText, parseResetTime, windowFromText, windowFromType } from "../../src/agents/limits.ts";

const at = (iso: string) => new Date(iso);
const parse = (text: string, now: string, zone = "UTC") => parseResetTime(text, at(now), zone)?.toISOString() ?? null;

describe("parseResetTime: every form seen", () => {
  const now = "2026-12-01T07:10:00Z";

  test("epoch: legacy `|<epoch>` (seconds) and an ISO stamp; past ones are null", () => {
    expect(parse("Claude AI usage limit reached|1796112820", now)).toBe("2026-12-01T08:13:40.000Z");
    expect(parse("Claude AI usage limit reached|1749924000", now)).toBeNull(); // June 2025
    expect(parse("limit resets 2026-12-01T09:00:00Z", now)).toBe("2026-12-01T09:00:00.000Z");
    expect(parse("limit resets 2026-11-30T09:00:00+02:00", now)).toBeNull();
    expect(epochToDate(1796112820, at(now))?.toISOString()).toBe("2026-12-01T08:13:40.000Z");
    expect(epochToDate(1796112820000, at(now))?.toISOString()).toBe("2026-12-01T08:13:40.000Z");
    expect(epochToDate(1700000000, at(now))).toBeNull();
    expect(epochToDate("nope", at(now))).toBeNull();
  });

  test("`resets 3pm (Europe/Lisbon)` and `resets 12:50am (America/Los_Angeles)`: the next occurrence in that zone", () => {
    expect(parse("You've hit your limit · resets 3pm (Europe/Lisbon)", now)).toBe("2026-12-01T15:00:00.000Z"); // WET = UTC+0 in December
    expect(parse("You've hit your limit · resets 3pm (Europe/Lisbon)", "2026-07-01T07:10:00Z")).toBe("2026-07-01T14:00:00.000Z"); // WEST = UTC+1
    // 07:10Z is 23:10 PST on Nov 30: 12:50am is 50 minutes after midnight, Dec 1 08:50Z.
    expect(parse("You've hit your session limit · resets 12:50am (America/Los_Angeles)", now)).toBe("2026-12-01T08:50:00.000Z");
    // 3:50pm in Tokyo was 06:50Z today, 20 minutes ago: tomorrow's.
    expect(parse("You've hit your session limit · resets 3:50pm (Asia/Tokyo)", now)).toBe("2026-12-02T06:50:00.000Z");
  });

  test("a time already past today is tomorrow's", () => {
    expect(parse("You're out of extra usage · resets 9pm", now)).toBe("2026-12-01T21:00:00.000Z");
    expect(parse("You're out of extra usage · resets 9pm", "2026-12-01T22:00:00Z")).toBe("2026-12-02T21:00:00.000Z");
    expect(parse("You've hit your session limit · resets 8:13am (UTC)", "2026-12-01T08:30:00Z")).toBe("2026-12-02T08:13:00.000Z");
  });

  test("a clock time that passed minutes ago has just reset: null (back off), not tomorrow", () => {
    // "8:13am" is 08:13:40 truncated; at 08:13:50 the reset is behind us.
    expect(parse("You've hit your session limit · resets 8:13am (UTC)", "2026-12-01T08:13:50Z")).toBeNull();
    expect(parse("try again at 8:09 AM.", "2026-12-01T08:15:00Z")).toBeNull();
    // Across midnight in the zone: 11:58pm yesterday, seven minutes ago.
    expect(parse("resets 11:58pm (UTC)", "2026-12-02T00:05:00Z")).toBeNull();
    expect(parse("resets 11:58pm (UTC)", "2026-12-02T00:15:00Z")).toBe("2026-12-02T23:58:00.000Z");
  });

  test("`resets Apr 23 at 4pm (America/Recife)`, `resets Apr 24, 4am (Asia/Tokyo)`, `resets Oct 7, 1pm`", () => {
    const april = "2026-04-22T12:00:00Z";
    expect(parse("You've hit your limit · resets Apr 23 at 4pm (America/Recife)", april)).toBe("2026-04-23T19:00:00.000Z"); // UTC-3
    expect(parse("You're out of extra usage · resets Apr 24, 4am (Asia/Tokyo)", april)).toBe("2026-04-23T19:00:00.000Z"); // UTC+9
    expect(parse("You've hit your weekly limit · resets Oct 7, 1pm", "2026-10-01T00:00:00Z", "Europe/Berlin")).toBe("2026-10-07T11:00:00.000Z"); // CEST
    // A date without a year is the reading nearest to now: "Jan 2" seen on Dec 30 is next year's.
    expect(parse("resets Jan 2, 1pm (UTC)", "2026-12-30T00:00:00Z")).toBe("2027-01-02T13:00:00.000Z");
  });

  test("an explicit date in the past is null, never a zero wait", () => {
    expect(parse("You've hit your limit · resets Apr 23 at 4pm (America/Recife)", "2026-04-24T12:00:00Z")).toBeNull();
    expect(parse("try again at Sep 11th, 2026 12:26 AM.", now)).toBeNull();
  });

  test("codex: `try again at 5:56 PM` and `try again at Sep 11th, 2026 12:26 AM` in the agent host's zone", () => {
    expect(parse("You've hit your usage limit. … or try again at 5:56 PM.", now, "America/New_York")).toBe("2026-12-01T22:56:00.000Z");
    expect(parse("You've hit your usage limit. … or try again at 5:56 PM.", now, "UTC")).toBe("2026-12-01T17:56:00.000Z");
    expect(parse("You've hit your usage limit. Upgrade to Plus to continue using Codex (https://chatgpt.com/explore/plus), or try again at Sep 11th, 2026 12:26 AM.", "2026-09-10T12:00:00Z")).toBe("2026-09-11T00:26:00.000Z");
    expect(parse("try again at Sep 11th, 2026 12:26 AM.", "2026-09-10T12:00:00Z", "Asia/Kolkata")).toBe("2026-09-10T18:56:00.000Z");
    expect(parse("try again at Sep 3rd, 2026 1:05 PM", "2026-09-01T00:00:00Z")).toBe("2026-09-03T13:05:00.000Z");
  });

  test("`try again in 2 hours 3 minutes`, `in 2 days 17 hours 14 minutes`", () => {
    expect(parse("You've hit your usage limit. Limits reset every 5h and every week. Try again in 2 hours 3 minutes.", now)).toBe("2026-12-01T09:13:00.000Z");
    expect(parse("You've hit your usage limit. … or try again in 2 days 17 hours 14 minutes.", now)).toBe("2026-12-04T00:24:00.000Z");
    expect(parse("try again in 90 seconds", now)).toBe("2026-12-01T07:11:30.000Z");
    expect(parse("resets in 5 seconds", now)).toBe("2026-12-01T07:10:05.000Z");
  });

  test("curly apostrophes, `·`, the old `Your limit will reset at 1pm (Etc/GMT+5)`, the /upgrade suffix", () => {
    expect(normalizeText("You\u2019ve hit your usage limit \u00b7 resets 5am")).toBe("You've hit your usage limit resets 5am");
    expect(parse("ERROR: You\u2019ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 8:09 AM.", now)).toBe("2026-12-01T08:09:00.000Z");
    expect(parse("5-hour limit reached \u00b7 resets 5am (Europe/Amsterdam) \u00b7 /upgrade", now)).toBe("2026-12-02T04:00:00.000Z");
    expect(parse("Claude usage limit reached. Your limit will reset at 1pm (Etc/GMT+5).", now)).toBe("2026-12-01T18:00:00.000Z");
  });

  test("an unknown zone, no time at all, or nonsense is null", () => {
    expect(parse("You've hit your limit · resets 3pm (Mars/Olympus_Mons)", now)).toBeNull();
    expect(parse("You've hit your weekly limit", now)).toBeNull();
    expect(parse("You've hit your usage limit. Try again later.", now)).toBeNull();
    expect(parse("resets 5", now)).toBeNull();
    expect(parse("resets 13pm (UTC)", now)).toBeNull();
    expect(parse("resets Foo 7, 1pm (UTC)", now)).toBeNull();
  });

  test("a wall time that a DST jump skips still lands within the hour", () => {
    // 2:30am does not exist in New York on 2026-03-08 (clocks jump 2:00 → 3:00).
    const r = parseResetTime("resets 2:30am (America/New_York)", at("2026-03-08T05:00:00Z"), "UTC")!;
    expect(r.getTime()).toBeGreaterThanOrEqual(at("2026-03-08T06:30:00Z").getTime());
    expect(r.getTime()).toBeLessThanOrEqual(at("2026-03-08T07:30:00Z").getTime());
  });

  test("the limit window, from claude's rateLimitType or the words", () => {
    expect(windowFromType("five_hour")).toBe("five_hour");
    expect(windowFromType("seven_day_opus")).toBe("weekly");
    expect(windowFromType("overage")).toBe("overage");
    expect(windowFromType(undefined)).toBeUndefined();
    expect(windowFromText("You've hit your weekly limit · resets Oct 7, 1pm")).toBe("weekly");
    expect(windowFromText("You've hit your session limit · resets 8:13am (UTC)")).toBe("five_hour");
    expect(windowFromText("You've hit your org's monthly usage limit")).toBe("monthly");
    expect(windowFromText("You've hit your usage limit.")).toBeUndefined();
  });
});

describe("limitWaitMs", () => {
  const now = at("2026-12-01T07:10:00Z");
  const opts = { minWaitMs: 60_000, jitterMs: 60_000, backoffMs: 300_000, attempt: 0, random: () => 0.5 };

  test("reset plus jitter", () => {
    expect(limitWaitMs(at("2026-12-01T08:10:00Z"), now, opts)).toBe(3_600_000 + 30_000);
    expect(limitWaitMs(at("2026-12-01T08:10:00Z"), now, { ...opts, random: () => 0 })).toBe(3_600_000);
  });

  test("a reset that is now or past waits at least minWait, never 0", () => {
    expect(limitWaitMs(now, now, opts)).toBe(60_000);
    expect(limitWaitMs(at("2026-12-01T06:00:00Z"), now, opts)).toBe(60_000);
    expect(limitWaitMs(at("2026-12-01T06:00:00Z"), now, { ...opts, minWaitMs: 0, jitterMs: 0 })).toBeGreaterThan(0);
  });

  test("an unknown reset backs off exponentially from backoffMs, capped at 1 h", () => {
    const waits = [0, 1, 2, 3, 4].map((attempt) => limitWaitMs(null, now, { ...opts, jitterMs: 0, attempt }));
    expect(waits).toEqual([300_000, 600_000, 1_200_000, 2_400_000, 3_600_000]);
    expect(limitWaitMs(null, now, { ...opts, jitterMs: 0, attempt: 50 })).toBe(3_600_000);
    expect(limitWaitMs(null, now, { ...opts, attempt: 0 })).toBe(330_000);
  });

  test("jitter uses Math.random by default and stays within jitterMs", () => {
    for (let i = 0; i < 20; i++) {
      const w = limitWaitMs(at("2026-12-01T07:20:00Z"), now, { minWaitMs: 1000, jitterMs: 5000, backoffMs: 1000, attempt: 0 });
      expect(w).toBeGreaterThanOrEqual(600_000);
      expect(w).toBeLessThanOrEqual(605_000);
    }
  });
});
