printf("hello, world\n");
