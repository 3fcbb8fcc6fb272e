/*
 * Writes JPEG files with the sampling factors and colour spaces Pillow 9.4
 * cannot ask libjpeg for (4:4:0, 4:1:1, 4:1:0, RGB, YCCK), for
 * scripts/torchvision_jpeg_fixtures.py, which compiles it with
 *   gcc -O2 -o jpeg_encode_sampling jpeg_encode_sampling.c -ljpeg
 * Usage: jpeg_encode_sampling IN.raw W H SPACE H0 V0 H1 V1 QUALITY OUT.jpg
 * IN.raw holds W×H pixels, RGB for SPACE ycbcr or rgb, CMYK for ycck;
 * components 1 and 2 get H1×V1, components 0 and 3 H0×V0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

int main(int argc, char **argv)
{
  if (argc != 11) {
    fprintf(stderr, "usage: %s IN.raw W H ycbcr|rgb|ycck H0 V0 H1 V1 QUALITY OUT.jpg\n", argv[0]);
    return 2;
  }
  int w = atoi(argv[2]), h = atoi(argv[3]);
  const char *space = argv[4];
  int ycck = strcmp(space, "ycck") == 0, nc = ycck ? 4 : 3;
  size_t n = (size_t)w * h * nc;
  unsigned char *pix = malloc(n);
  FILE *in = fopen(argv[1], "rb");
  if (!pix || !in || fread(pix, 1, n, in) != n) {
    fprintf(stderr, "reading %s failed\n", argv[1]);
    return 1;
  }
  fclose(in);
  FILE *out = fopen(argv[10], "wb");
  if (!out) {
    fprintf(stderr, "creating %s failed\n", argv[10]);
    return 1;
  }
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, out);
  c.image_width = w;
  c.image_height = h;
  c.input_components = nc;
  c.in_color_space = ycck ? JCS_CMYK : JCS_RGB;
  jpeg_set_defaults(&c);
  if (ycck)
    jpeg_set_colorspace(&c, JCS_YCCK);
  else if (strcmp(space, "rgb") == 0)
    jpeg_set_colorspace(&c, JCS_RGB);
  jpeg_set_quality(&c, atoi(argv[9]), TRUE);
  for (int i = 0; i < nc; i++) {
    int outer = i == 0 || i == 3;
    c.comp_info[i].h_samp_factor = atoi(argv[outer ? 5 : 7]);
    c.comp_info[i].v_samp_factor = atoi(argv[outer ? 6 : 8]);
  }
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = pix + (size_t)c.next_scanline * w * nc;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  fclose(out);
  free(pix);
  return 0;
}
