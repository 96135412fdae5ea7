// @ts-check
/** Finding the page's elements and building new ones (text only: nothing is parsed as HTML). */

/** @param {string} id */
export function byId(id) {
  const found = document.getElementById(id)
  if (!found) throw new Error(`the dashboard page has no element #${id}`)
  return found
}

/** A text box or text area. @param {string} id */
export function field(id) {
  const found = byId(id)
  if (found instanceof HTMLInputElement || found instanceof HTMLTextAreaElement) return found
  throw new Error(`#${id} is not a text field`)
}

/** @param {string} testId */
export function byTestId(testId) {
  const found = document.querySelector(`[data-testid="${testId}"]`)
  if (!(found instanceof HTMLElement)) throw new Error(`the dashboard page has no element with data-testid "${testId}"`)
  return found
}

/** @param {string} selector @returns {HTMLElement[]} */
export function all(selector) {
  return Array.from(document.querySelectorAll(selector)).filter((e) => e instanceof HTMLElement)
}

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs] `text` becomes the text, `class` the class name, anything else an attribute
 * @param {Array<Node | string | null>} [children] null entries are left out
 */
export function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') e.textContent = value
    else if (name === 'class') e.className = value
    else e.setAttribute(name, value)
  }
  for (const child of children) if (child != null) e.appendChild(typeof child === 'string' ? document.createTextNode(child) : child)
  return e
}

/** An event's state as a coloured label. @param {string} status */
export function pill(status) {
  return el('span', { class: `status-pill s-${status}`, text: status === 'dead' ? 'dead letter' : status })
}
