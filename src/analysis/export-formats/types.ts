// A file written next to the CSVs by a format: a script, or a copy of a CSV a tool needs.
export interface ScriptFile {
  name: string;
  content: string;
  /** Scripts: the number of variables they declare; data copies: their data rows. */
  rows: number;
}
