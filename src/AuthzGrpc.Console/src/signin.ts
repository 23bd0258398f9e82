// Sign-in: the API key from a password field into sessionStorage (this tab only), checked at once with WhoAmI, whose
// answer — the subject the key acts as, its kind and id — stays in the header while signed in.
import { KeyKind } from "./gen/authz/v1/apikeys_pb.js";
import { authorization, forgetKey, refusal, storedKey, storeKey } from "./client.js";
import { byId, say } from "./dom.js";
import { subjectText } from "./refs.js";

const kinds: Record<number, string> = {
    [KeyKind.CHECK]: "check",
    [KeyKind.MANAGEMENT]: "management",
    [KeyKind.ADMIN]: "admin",
};

/** Asks who the stored key acts as; shows it and calls `onSignedIn`, or forgets the key and shows the refusal. */
async function identify(onSignedIn: () => void): Promise<void> {
    const error = byId<HTMLParagraphElement>("sign-in-error");
    try {
        const me = await authorization.whoAmI({});
        say(byId("identity"), `Acting as ${subjectText(me.subject)} (${kinds[me.kind] ?? "unknown"} key ${me.keyId})`);
        say(error, "");
        byId("sign-out").hidden = false;
        byId("nav").hidden = false;
        onSignedIn();
    } catch (failure) {
        forgetKey();
        const { status, message } = refusal(failure);
        say(error, `${status}: ${message}`);
        byId<HTMLInputElement>("api-key").focus();
    }
}

export function setUpSignIn(onSignedIn: () => void, onSignedOut: () => void): void {
    const form = byId<HTMLFormElement>("sign-in-form");
    const input = byId<HTMLInputElement>("api-key");
    form.addEventListener("submit", (event) => {
        event.preventDefault();
        const key = input.value.trim();
        // The field is cleared at once: the key is kept in sessionStorage only.
        input.value = "";
        if (key.length === 0) {
            say(byId("sign-in-error"), "Enter an API key (azk_…).");
            return;
        }
        storeKey(key);
        void identify(onSignedIn);
    });
    byId("sign-out").addEventListener("click", () => {
        forgetKey();
        say(byId("identity"), "");
        byId("sign-out").hidden = true;
        byId("nav").hidden = true;
        onSignedOut();
    });
    if (storedKey() !== null) {
        void identify(onSignedIn);
    }
}

export function signedIn(): boolean {
    return storedKey() !== null;
}
