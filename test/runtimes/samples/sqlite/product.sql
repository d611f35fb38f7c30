-- The sqlite3 shell's .import reads the program's stdin a line per row; the numbers are its first two words.
CREATE TABLE input(line TEXT);
.import --csv /dev/stdin input
WITH words(text) AS (SELECT trim(group_concat(trim(line), ' ')) FROM input)
SELECT CAST(substr(text, 1, instr(text, ' ') - 1) AS INTEGER) * CAST(ltrim(substr(text, instr(text, ' '))) AS INTEGER)
FROM words;
