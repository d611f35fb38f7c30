const values: number[] = [1, 2, 3];
const missing = values.find((value) => value > 3) as unknown as { size: number };
console.log(missing.size);
