/**
 * Code blocks of a Markdown document, for the tests that run the docs' examples.
 *
 * ```ts
 * const [first] = codeBlocks(await readFile('docs/client.md', 'utf8'), 'ts');
 * ```
 */

/** A fenced block: its code and the line of its opening fence (1-based). */
export interface CodeBlock {
  code: string;
  line: number;
}

/** The code of every block fenced as `lang`, in order. */
export function codeBlocks(markdown: string, lang: string): string[] {
  return codeBlocksAt(markdown, lang).map((b) => b.code);
}

/** {@link codeBlocks} with where each block starts. */
export function codeBlocksAt(markdown: string, lang: string): CodeBlock[] {
  const fence = new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\``, 'gm');
  return [...markdown.matchAll(fence)].map((m) => ({
    code: m[1]!,
    line: markdown.slice(0, m.index).split('\n').length,
  }));
}
