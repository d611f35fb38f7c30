import { byId } from './dom.js';
import { storeToken } from './storage.js';

/** Asks for the access token a server with tenants needs (a 401), keeps it, and starts over. */
export function askForToken(reason: string, hadToken: boolean): void {
  const form = byId<HTMLFormElement>('token-form');
  const input = byId<HTMLInputElement>('token-input');
  byId('token-hint').textContent = hadToken
    ? `The saved access token was not accepted (${reason}). Enter another one; it stays in this browser only.`
    : 'This server needs an access token. It stays in this browser only.';
  form.hidden = false;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    storeToken(input.value.trim());
    location.reload();
  });
  input.focus();
}
