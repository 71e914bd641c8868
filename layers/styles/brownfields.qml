<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- flaechen: Brachflächen (brownfields): brown diagonal hatching with outline -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="0" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0">
 <renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1">
  <symbols>
   <symbol name="0" type="fill" alpha="1" clip_to_extent="1" force_rhr="0">
    <layer class="LinePatternFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="angle" value="45" type="QString"/>
      <Option name="distance" value="2" type="QString"/>
      <Option name="distance_unit" value="MM" type="QString"/>
      <Option name="line_width" value="0.35" type="QString"/>
      <Option name="line_width_unit" value="MM" type="QString"/>
      <Option name="offset" value="0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="color" value="120,60,20,255" type="QString"/>
     </Option>
     <symbol name="@0@0" type="line" alpha="1" clip_to_extent="1" force_rhr="0">
      <layer class="SimpleLine" enabled="1" locked="0" pass="0">
       <Option type="Map">
        <Option name="capstyle" value="square" type="QString"/>
        <Option name="joinstyle" value="bevel" type="QString"/>
        <Option name="line_color" value="120,60,20,255" type="QString"/>
        <Option name="line_style" value="solid" type="QString"/>
        <Option name="line_width" value="0.35" type="QString"/>
        <Option name="line_width_unit" value="MM" type="QString"/>
        <Option name="offset" value="0" type="QString"/>
        <Option name="offset_unit" value="MM" type="QString"/>
       </Option>
      </layer>
     </symbol>
    </layer>
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="255,255,255,0" type="QString"/>
      <Option name="joinstyle" value="bevel" type="QString"/>
      <Option name="offset" value="0,0" type="QString"/>
      <Option name="offset_unit" value="MM" type="QString"/>
      <Option name="outline_color" value="120,60,20,255" type="QString"/>
      <Option name="outline_style" value="solid" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="no" type="QString"/>
     </Option>
    </layer>
   </symbol>
  </symbols>
  <rotation/>
  <sizescale/>
 </renderer-v2>
 <blendMode>0</blendMode>
 <featureBlendMode>0</featureBlendMode>
 <layerOpacity>1</layerOpacity>
 <layerGeometryType>2</layerGeometryType>
</qgis>
