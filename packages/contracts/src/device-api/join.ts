import * as v from 'valibot'

/**
 * The one-time join exchange between a new tablet and the admin device (docs/protocols: PAKE over a join code):
 * four JSON messages, every value hex-encoded bytes.
 */

const hexBytes = v.pipe(v.string('must be hex'), v.regex(/^(?:[0-9a-f]{2}){1,4096}$/, 'must be hex'))

/** `POST /join/offer`: the new tablet's session id and first PAKE message. */
export const JoinOfferMessageSchema = v.object({ sid: hexBytes, y: hexBytes })
/** The admin device's PAKE answer. */
export const JoinOfferAnswerSchema = v.object({ y: hexBytes })
/** `POST /join/welcome`: the new tablet's key confirmation and its sealed enrolment request. */
export const JoinWelcomeMessageSchema = v.object({ sid: hexBytes, confirm: hexBytes, sealed: hexBytes })
/** The admin device's confirmation and the sealed clinic bundle. */
export const JoinWelcomeAnswerSchema = v.object({ confirm: hexBytes, sealed: hexBytes })

export type JoinOfferMessage = v.InferOutput<typeof JoinOfferMessageSchema>
export type JoinWelcomeMessage = v.InferOutput<typeof JoinWelcomeMessageSchema>
