int main() {
  std::string missing_include;
}
