// What the catalog and the Runtime CRD say of a language, as clients see it.
export interface RuntimeInfo {
  name: string;
  version: string;
  aliases: string[];
  compiled: boolean;
  /** Where a request's `source` is written; a request with `files` must name its program so. */
  fileName: string;
}
