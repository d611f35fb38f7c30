#include <stdio.h>
#include <stdlib.h>

int main(void) {
  FILE *missing = fopen("/no/such/file", "r");
  if (missing == NULL) {
    perror("fopen");
    exit(3);
  }
  return 0;
}
