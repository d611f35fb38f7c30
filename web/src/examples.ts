// A first program per language: each asks for a name on stdin, so the terminal's input is visible
// from the first run. Prompts are flushed by hand where stdout is a pipe, not a tty.

const EXAMPLES: Record<string, string> = {
  python: `name = input('Your name? ')
print(f'Hello, {name}!')
`,
  javascript: `const readline = require('node:readline');

const rl = readline.createInterface({ input: process.stdin });
process.stdout.write('Your name? ');
rl.once('line', (name) => {
  console.log(\`Hello, \${name}!\`);
  rl.close();
});
`,
  typescript: `import * as readline from 'node:readline';

const rl = readline.createInterface({ input: process.stdin });
process.stdout.write('Your name? ');
rl.once('line', (name: string) => {
  console.log(\`Hello, \${name}!\`);
  rl.close();
});
`,
  c: `#include <stdio.h>
#include <string.h>

int main(void) {
    char name[100];
    printf("Your name? ");
    fflush(stdout);
    if (fgets(name, sizeof name, stdin) == NULL) {
        return 1;
    }
    name[strcspn(name, "\\n")] = '\\0';
    printf("Hello, %s!\\n", name);
    return 0;
}
`,
  cpp: `#include <iostream>
#include <string>

int main() {
    std::string name;
    std::cout << "Your name? " << std::flush;
    if (!std::getline(std::cin, name)) {
        return 1;
    }
    std::cout << "Hello, " << name << "!\\n";
    return 0;
}
`,
  bash: `printf 'Your name? '
read -r name
echo "Hello, $name!"
`,
};

/** The example for a runtime, found by its name or one of its aliases. */
export function exampleFor(names: readonly string[]): string {
  for (const name of names) {
    const example = EXAMPLES[name];
    if (example !== undefined) return example;
  }
  return '';
}
