#include <iostream>
#include <stdexcept>
#include <vector>

int main() {
  std::vector<int> values{1, 2, 3};
  try {
    return values.at(values.size());
  } catch (const std::out_of_range &error) {
    std::cerr << error.what() << "\n";
    return 4;
  }
}
