int main(void) {
  int count = undeclared_name;
  return count;
}
