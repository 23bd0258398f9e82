// DOM helpers. Every value from the service goes in as text (textContent, attributes set one by one), never as markup,
// so nothing the service returns can run as script or change the page's structure.

export function byId<T extends HTMLElement>(id: string): T {
    const element = document.getElementById(id);
    if (element === null) {
        throw new Error(`the page has no #${id}`);
    }
    return element as T;
}

export function element<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    options: { text?: string; className?: string } = {},
    ...children: Node[]
): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    if (options.text !== undefined) {
        node.textContent = options.text;
    }
    if (options.className !== undefined) {
        node.className = options.className;
    }
    node.append(...children);
    return node;
}

/** Shows `text` in a message element (role=status or role=alert), or hides it when empty. */
export function say(target: HTMLElement, text: string): void {
    target.textContent = text;
    target.hidden = text.length === 0;
}
