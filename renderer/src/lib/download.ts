/** Report downloads from `hostmem serve`: one-time same-origin links, each clicked through an `<a download>`. */

/** Only same-origin http(s) links are followed (the server's `/download/<id>`). */
export function sameOrigin(url: string): boolean {
  try {
    const u = new URL(url, location.href);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === location.origin;
  } catch {
    return false;
  }
}

export function download(files: readonly { readonly name: string; readonly url: string }[]): void {
  for (const f of files) {
    const a = document.createElement('a');
    a.href = f.url;
    a.download = f.name;
    a.rel = 'noopener';
    a.style.display = 'none';
    document.body.append(a);
    a.click();
    a.remove();
  }
}
