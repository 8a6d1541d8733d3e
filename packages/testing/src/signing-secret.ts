/**
 * The one Standard Webhooks secret the tests sign and verify with. A fixed value, so that a failing
 * test's receiver can be checked by hand; it signs nothing outside the tests.
 */
export const TEST_SIGNING_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
