/** Resolves on a later turn of the event loop (Node's setImmediate; a browser's setTimeout). */
export const nextTurn = (): Promise<void> =>
  new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  )
