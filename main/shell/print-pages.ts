/**
 * The pages the PDF printer's session may load. Electron keeps one `webRequest.onBeforeRequest` listener per session:
 * installing one per export would replace the previous export's, and cancel its page mid-print when two exports run
 * at once. So the listener is installed once and asks this set, to which each export adds its own page while it
 * prints. No Electron here (print-pages.test.ts).
 */
export class PrintPages {
  private readonly pages = new Map<string, number>();

  /** Allow `url` until the returned function is called (the same page twice: allowed until both are done). */
  allow(url: string): () => void {
    this.pages.set(url, (this.pages.get(url) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const left = (this.pages.get(url) ?? 1) - 1;
      if (left > 0) this.pages.set(url, left);
      else this.pages.delete(url);
    };
  }

  /** Whether the print session may load `url`: a page being printed, or data the report embeds. */
  allows(url: string): boolean {
    return this.pages.has(url) || url.startsWith('data:');
  }

  get size(): number {
    return this.pages.size;
  }
}
