/** Formats INFO output the way Redis does: `# Section` headers and `field:value` lines. */
export function formatInfo(sections: Record<string, Record<string, string | number>>, only?: string): string {
  const lines: string[] = [];
  for (const [name, fields] of Object.entries(sections)) {
    if (only && only !== 'all' && only !== 'everything' && only !== name) continue;
    lines.push(`# ${name[0]!.toUpperCase()}${name.slice(1)}`);
    for (const [key, value] of Object.entries(fields)) lines.push(`${key}:${value}`);
    lines.push('');
  }
  return lines.join('\r\n');
}

/** Parses INFO output back into sections of fields (used by the client and the harness). */
export function parseInfo(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('# ')) {
      section = {};
      out[line.slice(2).toLowerCase()] = section;
    } else if (line.includes(':')) {
      const i = line.indexOf(':');
      section[line.slice(0, i)] = line.slice(i + 1);
    }
  }
  return out;
}
