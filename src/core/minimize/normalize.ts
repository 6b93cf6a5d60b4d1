/**
 * Text normalisation before detection and pseudonymization (spec/minimization.md §detection).
 *
 * Risk: personal data hidden from the detectors with Unicode look-alikes (full-width digits,
 * mathematical alphanumerics, ligatures) or invisible characters (zero-width space and joiners,
 * soft hyphen, bidirectional controls, variation selectors, tag characters). Flow: NFKC folds the
 * compatibility look-alikes onto ASCII, then every character of general category Cf (format) and
 * every default-ignorable code point (variation selectors, Hangul fillers, the combining grapheme
 * joiner, tags) is removed. Pure ASCII text (the common
 * case) is returned as is without touching the normaliser.
 */

const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const NOT_PLAIN_ASCII = /[^\x20-\x7e\t\n\r]/;

/** NFKC, then invisible characters removed. Idempotent. */
export function normalizeText(s: string): string {
  if (!NOT_PLAIN_ASCII.test(s)) return s;
  const folded = s.normalize("NFKC").replace(INVISIBLE, "");
  // NFKC of the stripped text can differ when an invisible sat between combining sequences.
  return folded.normalize("NFKC");
}
