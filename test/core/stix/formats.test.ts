/**
 * String formats, with vectors from their specifications: RFC 3339 §5.6 (STIX 2.1 §2.14
 * timestamps), STIX 2.1 §2.8 identifiers, RFC 3986 §1.1.2 URIs, RFC 4291 §2.2–§2.3 IPv6 text,
 * RFC 5322 addresses, RFC 1034/5890 host names, RFC 4648 base64. Negative vectors say what fails.
 */
import { describe, expect, it } from "vitest";
import {
  compareTimestamps,
  identifierType,
  isBase64,
  isEmail,
  isHex,
  isHostname,
  isIpv4Cidr,
  isIpv6Cidr,
  isMac,
  isTimestamp,
  isUri,
  timestampFractionDigits,
} from "../../../src/core/stix/formats.js";

describe("timestamps (STIX 2.1 §2.14)", () => {
  it.each([
    ["2016-05-12T08:17:27Z", 0],
    ["2016-05-12T08:17:27.000Z", 3],
    ["2008-01-07T00:00:00.000000Z", 6],
    ["2000-02-29T00:00:00Z", 0],
    ["2024-02-29T23:59:59.999Z", 3],
    ["2016-12-31T23:59:60Z", 0],
  ])("%s is valid with %i fraction digits", (s, digits) => {
    expect(timestampFractionDigits(s)).toBe(digits);
  });

  it.each([
    ["1900-02-29T00:00:00Z", "1900 is not a leap year"],
    ["2021-04-31T00:00:00Z", "April has 30 days"],
    ["2016-13-01T00:00:00Z", "month 13"],
    ["2016-01-01T24:00:00Z", "hour 24"],
    ["2016-01-01T00:00:61Z", "second 61"],
    ["2016-01-01t00:00:00Z", "lower-case t"],
    ["2016-01-01T00:00:00z", "lower-case z"],
    ["2016-01-01T00:00:00+00:00", "an offset instead of Z"],
    ["2016-01-01T00:00:00.Z", "a dot without digits"],
    ["2016-01-01 00:00:00Z", "a space for T"],
    ["2016-1-01T00:00:00Z", "a one-digit month"],
    ["", "nothing"],
  ])("%s is not (%s)", (s) => {
    expect(isTimestamp(s)).toBe(false);
  });

  it("orders instants, padding fractions", () => {
    expect(compareTimestamps("2020-01-01T00:00:00.000Z", "2020-01-01T00:00:00.0001Z")).toBe(-1);
    expect(compareTimestamps("2020-01-01T00:00:00.1Z", "2020-01-01T00:00:00.100000Z")).toBe(0);
    expect(compareTimestamps("2020-01-01T00:00:00Z", "2020-01-01T00:00:00.000Z")).toBe(0);
    expect(compareTimestamps("2021-01-01T00:00:00Z", "2020-12-31T23:59:59.999Z")).toBe(1);
  });
});

describe("identifiers (STIX 2.1 §2.8)", () => {
  it.each([
    ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator"],
    ["relationship--81f12913-1372-4c96-85ec-E9034ac98aba", "relationship"],
    ["x-mitre-tactic--8d151547-7423-5bac-bc2d-a6fd02afba29", "x-mitre-tactic"],
  ])("%s has type %s", (id, type) => {
    expect(identifierType(id)).toBe(type);
  });

  it.each([
    ["indicator--8e2e2d2b-17d4-6cbf-938f-98ee46b3cd3f", "UUID version 6"],
    ["indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f", "variant c"],
    ["indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f", "no hyphens"],
    ["Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "upper-case type"],
    ["a--b--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "a type with a double hyphen"],
    ["--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "no type"],
    ["ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "a two-letter type"],
    ["indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "a single hyphen"],
  ])("%s is not one (%s)", (id) => {
    expect(identifierType(id)).toBeUndefined();
  });
});

describe("URIs (RFC 3986)", () => {
  it.each([
    // §1.1.2
    "ftp://ftp.is.co.za/rfc/rfc1808.txt",
    "http://www.ietf.org/rfc/rfc2396.txt",
    "ldap://[2001:db8::7]/c=GB?objectClass?one",
    "mailto:John.Doe@example.com",
    "news:comp.infosystems.www.servers.unix",
    "tel:+1-816-555-1212",
    "telnet://192.0.2.16:80/",
    "urn:oasis:names:specification:docbook:dtd:xml:4.1.2",
    // more
    "https://user:pw@example.com:8443/a%20b/c?d=e&f#g/h?i",
    "http://[v7.fe80::1]/",
    "file:///etc/hosts",
    "urn:",
  ])("%s is one", (s) => {
    expect(isUri(s)).toBe(true);
  });

  it.each([
    [" https://example.com/", "a leading space (two CAPEC references)"],
    ["https://exa mple.com/", "a space"],
    ["//example.com/", "no scheme"],
    ["1http://example.com/", "a scheme starting with a digit"],
    ["http://[::1/", "an unclosed IP literal"],
    ["http://[1::2::3]/", "an invalid IPv6 literal"],
    ["http://host:port/", "a port that is not a number"],
    ["http://ex%zzample.com/", "a bad percent-escape"],
    ["http://example.com/ä", "a non-ASCII character (an IRI, not a URI)"],
    ["http://example.com/{x}", "braces"],
    ["", "nothing"],
  ])("%s is not (%s)", (s) => {
    expect(isUri(s)).toBe(false);
  });
});

describe("IP addresses (STIX 2.1 §6.8, §6.9; RFC 4291 §2.2, §2.3)", () => {
  it.each([
    "2001:DB8:0:0:8:800:200C:417A",
    "FF01:0:0:0:0:0:0:101",
    "0:0:0:0:0:0:0:1",
    "2001:DB8::8:800:200C:417A",
    "FF01::101",
    "::1",
    "::",
    "0:0:0:0:0:0:13.1.68.3",
    "::FFFF:129.144.52.38",
    "::13.1.68.3",
    "2001:0DB8:0000:CD30:0000:0000:0000:0000/60",
    "2001:0DB8::CD30:0:0:0:0/60",
    "fe80::1%eth0",
  ])("IPv6 %s is valid", (s) => {
    expect(isIpv6Cidr(s)).toBe(true);
  });

  it.each([
    "1:2:3:4:5:6:7:8:9",
    "1::2::3",
    ":1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "12345::",
    "::1/129",
    "::1/01",
    "::g",
    "1:2:3:4:5:6:7:1.2.3.4",
    "",
  ])("IPv6 %s is not", (s) => {
    expect(isIpv6Cidr(s)).toBe(false);
  });

  it.each(["198.51.100.3", "0.0.0.0", "255.255.255.255", "10.0.0.0/8", "203.0.113.0/24"])(
    "IPv4 %s is valid",
    (s) => {
      expect(isIpv4Cidr(s)).toBe(true);
    },
  );

  it.each([
    "256.0.0.1",
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.4/33",
    "1.2.3.4/",
    "1.2.3.4/08",
    " 1.2.3.4",
  ])("IPv4 %s is not", (s) => {
    expect(isIpv4Cidr(s)).toBe(false);
  });

  it("writes MAC addresses in lower case with colons", () => {
    expect(isMac("d2:fb:49:24:37:18")).toBe(true);
    expect(isMac("D2:FB:49:24:37:18")).toBe(false);
    expect(isMac("d2-fb-49-24-37-18")).toBe(false);
  });
});

describe("names and encodings", () => {
  it.each([
    ["jdoe@example.com", true],
    ["john.doe+tag@mail.example.org", true],
    ["john..doe@example.com", false],
    [".john@example.com", false],
    ["@example.com", false],
    ["jdoe@example", false],
    ["jdoe@-example.com", false],
  ])("email %s: %s", (s, ok) => {
    expect(isEmail(s)).toBe(ok);
  });

  it.each([
    ["example.com", true],
    ["example.com.", true],
    ["xn--bcher-kva.example", true],
    ["bücher.example", true],
    ["-example.com", false],
    ["example..com", false],
    ["_dmarc.example.com", false],
    [`${"a".repeat(64)}.com`, false],
    ["", false],
  ])("host name %s: %s", (s, ok) => {
    expect(isHostname(s)).toBe(ok);
  });

  it("reads hex and base64", () => {
    expect(isHex("4d5A90")).toBe(true);
    expect(isHex("4d5")).toBe(false);
    expect(isHex("")).toBe(false);
    expect(isBase64("VGhpcyBpcyBhIHRlc3Q=")).toBe(true);
    expect(isBase64("VGhpcyBpcyBhIHRlc3Q")).toBe(false);
    expect(isBase64("VGhp=yBp")).toBe(false);
    expect(isBase64("")).toBe(false);
  });
});
