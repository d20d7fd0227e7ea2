/**
 * A clinician's prescription-signing key. STOPGAP until the security package lands: 32 random bytes
 * (an Ed25519 secret key) kept per user in this browser's localStorage, not yet enrolled anywhere, so
 * other devices see the signature as valid-but-untrusted until key enrolment exists.
 */
export function signingKeyOf(userId: string): Uint8Array {
  const k = `clinic-mesh.key.${userId}`
  const hex = localStorage.getItem(k)
  if (hex && /^[0-9a-f]{64}$/.test(hex)) return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16))
  const key = crypto.getRandomValues(new Uint8Array(32))
  localStorage.setItem(k, Array.from(key, (b) => b.toString(16).padStart(2, '0')).join(''))
  return key
}
