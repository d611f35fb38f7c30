numbers = scanf("%d", 2);
printf("%d\n", numbers(1) * numbers(2));
